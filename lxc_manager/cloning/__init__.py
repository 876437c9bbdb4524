"""Clone a container (full or linked, from its current state or a snapshot, to another PVE
node and storage) and convert one to a template: the rules (`plan`), reading the source
(`source`) and the operation steps that run them on the workers."""
