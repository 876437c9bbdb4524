#!/usr/bin/env bash
# Checks that Docker really runs containers here: nesting or keyctl missing shows up now,
# not when the first real workload starts.

for _ in $(seq 1 30); do
	docker info >/dev/null 2>&1 && break
	sleep 1
done
docker info >/dev/null || die "Docker Engine does not answer: see 'journalctl -u docker'"
log_info "Docker $(docker info --format '{{.ServerVersion}}') with the $(docker info --format '{{.Driver}}') storage driver"

if ! output=$(docker run --rm --pull missing hello-world 2>&1); then
	printf '%s\n' "$output" >&2
	die "docker could not run hello-world: check that the container has the nesting and keyctl features and can reach Docker Hub"
fi
if ! grep -q "Hello from Docker!" <<<"$output"; then
	printf '%s\n' "$output" >&2
	die "hello-world ran but did not print its greeting"
fi
docker image rm hello-world >/dev/null 2>&1 || true
log_info "Docker runs containers"
