"""`/backups`: the cluster's scheduled backup jobs and which of them covers each container."""
