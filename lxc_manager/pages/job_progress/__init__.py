"""`/containers/jobs/[job_id]`: a provisioning job, live — stepper, log, result, retry."""
