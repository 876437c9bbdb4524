"""What the simulated package mirrors hold: packages, their binaries, services and ports.

Installing a package that ships a service adds its unit file, enables and starts it (as
Debian's maintainer scripts do), which adds its listening ports, processes and journal
lines. Versions are those of Debian 12 (bookworm); Ubuntu 24.04 and Alpine 3.20 override
the few that differ.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class ServiceSpec:
    unit: str
    description: str
    process: str  # the main process name (comm), shown by ss -p, pgrep, systemctl status
    command_line: str
    ports: tuple[tuple[str, int], ...] = ()  # (listen address, tcp port)
    workers: int = 0  # extra processes with the same name
    log: tuple[str, ...] = ()  # lines the daemon itself writes to the journal when it starts
    kind: str = "simple"  # "oneshot": active (exited), no process
    docs: str = ""
    enabled: bool = True  # enabled and started on install


@dataclass(frozen=True)
class Binary:
    path: str
    version: str  # what `--version` prints
    version_on_stderr: bool = False


@dataclass(frozen=True)
class PackageSpec:
    name: str
    version: str
    summary: str
    section: str = "misc"
    size_kb: int = 400
    depends: tuple[str, ...] = ()
    services: tuple[ServiceSpec, ...] = ()
    binaries: tuple[Binary, ...] = ()
    files: tuple[tuple[str, str], ...] = ()  # (path, content)
    provides_commands: tuple[str, ...] = ()  # implemented programs this package installs


NGINX = ServiceSpec(
    "nginx.service",
    "A high performance web server and a reverse proxy server",
    "nginx",
    "nginx: master process /usr/sbin/nginx -g daemon on; master_process on;",
    (("0.0.0.0", 80), ("::", 80)),
    workers=2,
    docs="man:nginx(8)",
)
APACHE = ServiceSpec(
    "apache2.service",
    "The Apache HTTP Server",
    "apache2",
    "/usr/sbin/apache2 -k start",
    (("*", 80),),
    workers=2,
    docs="https://httpd.apache.org/docs/2.4/",
    log=(
        "AH00558: apache2: Could not reliably determine the server's fully qualified domain "
        "name, using 127.0.1.1. Set the 'ServerName' directive globally to suppress this "
        "message",
    ),
)
POSTGRES_WRAPPER = ServiceSpec(
    "postgresql.service", "PostgreSQL RDBMS", "", "/bin/true", kind="oneshot"
)
REDIS = ServiceSpec(
    "redis-server.service",
    "Advanced key-value store",
    "redis-server",
    "/usr/bin/redis-server 127.0.0.1:6379",
    (("127.0.0.1", 6379), ("::1", 6379)),
    docs="http://redis.io/documentation",
)
MARIADB = ServiceSpec(
    "mariadb.service",
    "MariaDB 10.11.6 database server",
    "mariadbd",
    "/usr/sbin/mariadbd",
    (("127.0.0.1", 3306),),
    docs="man:mariadbd(8)",
    log=(
        "/usr/sbin/mariadbd (server 10.11.6-MariaDB-0+deb12u1) starting as process 1 ...",
        "Version: '10.11.6-MariaDB-0+deb12u1'  socket: '/run/mysqld/mysqld.sock'  port: 3306  "
        "Debian 12",
    ),
)
DOCKER = ServiceSpec(
    "docker.service",
    "Docker Application Container Engine",
    "dockerd",
    "/usr/sbin/dockerd -H fd:// --containerd=/run/containerd/containerd.sock",
    docs="https://docs.docker.com",
    log=("API listen on /run/docker.sock",),
)
CONTAINERD = ServiceSpec(
    "containerd.service",
    "containerd container runtime",
    "containerd",
    "/usr/bin/containerd",
    docs="https://containerd.io",
)
SSH = ServiceSpec(
    "ssh.service",
    "OpenBSD Secure Shell server",
    "sshd",
    "sshd: /usr/sbin/sshd -D [listener] 0 of 10-100 startups",
    (("0.0.0.0", 22), ("::", 22)),
    docs="man:sshd(8) man:sshd_config(5)",
    log=("Server listening on 0.0.0.0 port 22.", "Server listening on :: port 22."),
)
CRON = ServiceSpec(
    "cron.service",
    "Regular background program processing daemon",
    "cron",
    "/usr/sbin/cron -f",
    docs="man:cron(8)",
    log=("(CRON) INFO (pidfile fd = 3)", "(CRON) INFO (Running @reboot jobs)"),
)
POSTFIX = ServiceSpec(
    "postfix.service",
    "Postfix Mail Transport Agent",
    "master",
    "/usr/lib/postfix/sbin/master -w",
    (("127.0.0.1", 25), ("::1", 25)),
    workers=2,
    docs="man:postfix(1)",
    log=("daemon started -- version 3.7.11, configuration /etc/postfix",),
)
JOURNALD = ServiceSpec(
    "systemd-journald.service",
    "Journal Service",
    "systemd-journal",
    "/lib/systemd/systemd-journald",
    docs="man:systemd-journald.service(8)",
)
LOGIND = ServiceSpec(
    "systemd-logind.service",
    "User Login Management",
    "systemd-logind",
    "/lib/systemd/systemd-logind",
    docs="man:sd-login(3)",
)
DBUS = ServiceSpec(
    "dbus.service",
    "D-Bus System Message Bus",
    "dbus-daemon",
    "/usr/bin/dbus-daemon --system --address=systemd: --nofork --nopidfile --systemd-activation",
    docs="man:dbus-daemon(1)",
)
NETWORKING = ServiceSpec(
    "networking.service",
    "Raise network interfaces",
    "",
    "/sbin/ifup -a --read-environment",
    kind="oneshot",
    docs="man:interfaces(5)",
)
RESOLVED = ServiceSpec(
    "systemd-resolved.service",
    "Network Name Resolution",
    "systemd-resolve",
    "/usr/lib/systemd/systemd-resolved",
    (("127.0.0.53", 53), ("127.0.0.54", 53)),
    docs="man:systemd-resolved.service(8)",
)
NETWORKD = ServiceSpec(
    "systemd-networkd.service",
    "Network Configuration",
    "systemd-network",
    "/usr/lib/systemd/systemd-networkd",
    docs="man:systemd-networkd.service(8)",
)
FAIL2BAN = ServiceSpec(
    "fail2ban.service",
    "Fail2Ban Service",
    "fail2ban-server",
    "/usr/bin/python3 /usr/bin/fail2ban-server -xf start",
    docs="man:fail2ban(1)",
)
NODE_EXPORTER = ServiceSpec(
    "prometheus-node-exporter.service",
    "Prometheus exporter for machine metrics",
    "prometheus-node-exporter",
    "/usr/bin/prometheus-node-exporter",
    (("*", 9100),),
    docs="https://github.com/prometheus/node_exporter",
)
MEMCACHED = ServiceSpec(
    "memcached.service",
    "memcached daemon",
    "memcached",
    "/usr/bin/memcached -m 64 -p 11211 -u memcache -l 127.0.0.1 -P /var/run/memcached/memcached.pid",
    (("127.0.0.1", 11211),),
    docs="man:memcached(1)",
)
MOSQUITTO = ServiceSpec(
    "mosquitto.service",
    "Mosquitto MQTT Broker",
    "mosquitto",
    "/usr/sbin/mosquitto -c /etc/mosquitto/mosquitto.conf",
    (("127.0.0.1", 1883), ("::1", 1883)),
    docs="man:mosquitto.conf(5) man:mosquitto(8)",
)
RABBITMQ = ServiceSpec(
    "rabbitmq-server.service",
    "RabbitMQ Messaging Server",
    "beam.smp",
    "/usr/lib/erlang/erts-13.1.5/bin/beam.smp -W w -MBas ageffcbf -- -root /usr/lib/erlang",
    (("0.0.0.0", 25672), ("::", 5672)),
)
HAPROXY = ServiceSpec(
    "haproxy.service",
    "HAProxy Load Balancer",
    "haproxy",
    "/usr/sbin/haproxy -Ws -f /etc/haproxy/haproxy.cfg -p /run/haproxy.pid -S /run/haproxy-master.sock",
    docs="man:haproxy(1)",
)
CADDY = ServiceSpec(
    "caddy.service",
    "Caddy",
    "caddy",
    "/usr/bin/caddy run --environ --config /etc/caddy/Caddyfile",
    (("*", 80), ("127.0.0.1", 2019)),
    docs="https://caddyserver.com/docs/",
)


def _pg(major: str, version: str) -> PackageSpec:
    service = ServiceSpec(
        f"postgresql@{major}-main.service",
        f"PostgreSQL Cluster {major}-main",
        "postgres",
        f"/usr/lib/postgresql/{major}/bin/postgres -D /var/lib/postgresql/{major}/main -c "
        f"config_file=/etc/postgresql/{major}/main/postgresql.conf",
        (("127.0.0.1", 5432), ("::1", 5432)),
        workers=5,
        docs="man:postgres(1)",
        log=(
            f"starting PostgreSQL {version} on x86_64-pc-linux-gnu",
            'listening on IPv4 address "127.0.0.1", port 5432',
            "database system is ready to accept connections",
        ),
    )
    return PackageSpec(
        f"postgresql-{major}",
        f"{version}-0+deb12u1",
        "The World's Most Advanced Open Source Relational Database",
        "database",
        50_000,
        (f"postgresql-client-{major}", "postgresql-common"),
        (service,),
        (Binary(f"/usr/lib/postgresql/{major}/bin/postgres", f"postgres (PostgreSQL) {version}"),),
    )


PACKAGES: dict[str, PackageSpec] = {}


def _add(*specs: PackageSpec) -> None:
    for spec in specs:
        PACKAGES[spec.name] = spec


_add(
    PackageSpec(
        "nginx",
        "1.22.1-9",
        "small, powerful, scalable web/proxy server",
        "httpd",
        1_200,
        ("nginx-common",),
        (NGINX,),
        (Binary("/usr/sbin/nginx", "nginx version: nginx/1.22.1", True),),
        (
            (
                "/var/www/html/index.nginx-debian.html",
                "<!DOCTYPE html>\n<html>\n<head>\n<title>Welcome to nginx!</title>\n</head>\n"
                "<body>\n<h1>Welcome to nginx!</h1>\n</body>\n</html>\n",
            ),
            (
                "/etc/nginx/nginx.conf",
                "user www-data;\nworker_processes auto;\n"
                "pid /run/nginx.pid;\ninclude /etc/nginx/modules-enabled/*.conf;\n"
                "events {\n\tworker_connections 768;\n}\nhttp {\n"
                "\tinclude /etc/nginx/sites-enabled/*;\n}\n",
            ),
            (
                "/etc/nginx/sites-available/default",
                "server {\n\tlisten 80 default_server;\n\tlisten [::]:80 default_server;\n"
                "\troot /var/www/html;\n\tserver_name _;\n}\n",
            ),
        ),
    ),
    PackageSpec(
        "nginx-common",
        "1.22.1-9",
        "small, powerful, scalable web/proxy server - common files",
        "httpd",
        400,
    ),
    PackageSpec(
        "apache2",
        "2.4.62-1~deb12u1",
        "Apache HTTP Server",
        "httpd",
        560,
        ("apache2-bin", "apache2-data", "apache2-utils"),
        (APACHE,),
        (Binary("/usr/sbin/apache2", "Server version: Apache/2.4.62 (Debian)"),),
        (
            (
                "/var/www/html/index.html",
                "<html><body><h1>Apache2 Debian Default Page: It works</h1></body></html>\n",
            ),
        ),
    ),
    PackageSpec(
        "apache2-bin",
        "2.4.62-1~deb12u1",
        "Apache HTTP Server (modules and other binary files)",
        "httpd",
        6_000,
    ),
    PackageSpec(
        "apache2-data", "2.4.62-1~deb12u1", "Apache HTTP Server (common files)", "httpd", 900
    ),
    PackageSpec(
        "apache2-utils",
        "2.4.62-1~deb12u1",
        "Apache HTTP Server (utility programs for web servers)",
        "httpd",
        500,
    ),
    PackageSpec(
        "postgresql",
        "15+248",
        "object-relational SQL database (supported version)",
        "database",
        70,
        ("postgresql-15",),
        (POSTGRES_WRAPPER,),
    ),
    _pg("15", "15.8"),
    PackageSpec(
        "postgresql-client-15",
        "15.8-0+deb12u1",
        "front-end programs for PostgreSQL 15",
        "database",
        5_000,
        binaries=(Binary("/usr/bin/psql", "psql (PostgreSQL) 15.8"),),
    ),
    PackageSpec("postgresql-common", "248", "PostgreSQL database-cluster manager", "database", 700),
    PackageSpec(
        "redis-server",
        "5:7.0.15-1~deb12u1",
        "Persistent key-value database with network interface",
        "database",
        200,
        ("redis-tools",),
        (REDIS,),
        (
            Binary(
                "/usr/bin/redis-server",
                "Redis server v=7.0.15 sha=00000000:0 malloc="
                "jemalloc-5.3.0 bits=64 build=ea4b6be1a52b5a8a",
            ),
        ),
    ),
    PackageSpec(
        "redis-tools",
        "5:7.0.15-1~deb12u1",
        "Persistent key-value database with network interface (client)",
        "database",
        5_000,
        provides_commands=("redis-cli",),
    ),
    PackageSpec(
        "mariadb-server",
        "1:10.11.6-0+deb12u1",
        "MariaDB database server",
        "database",
        80_000,
        ("mariadb-client",),
        (MARIADB,),
        (
            Binary(
                "/usr/sbin/mariadbd",
                "/usr/sbin/mariadbd  Ver 10.11.6-MariaDB-0+deb12u1 "
                "for debian-linux-gnu on x86_64 (Debian 12)",
            ),
        ),
    ),
    PackageSpec(
        "mariadb-client",
        "1:10.11.6-0+deb12u1",
        "MariaDB database client binaries",
        "database",
        9_000,
        binaries=(
            Binary(
                "/usr/bin/mariadb",
                "mariadb from 11.4.2-MariaDB, client 15.2 for debian-linux-gnu (x86_64)",
            ),
        ),
    ),
    PackageSpec(
        "docker.io",
        "20.10.24+dfsg1-1+b3",
        "Linux container runtime",
        "admin",
        100_000,
        ("containerd", "runc"),
        (DOCKER,),
        (
            Binary("/usr/bin/docker", "Docker version 20.10.24+dfsg1, build 297e128"),
            Binary("/usr/sbin/dockerd", "Docker version 20.10.24+dfsg1, build 5d6db84"),
        ),
    ),
    PackageSpec(
        "containerd",
        "1.6.20~ds1-1+b1",
        "open and reliable container runtime",
        "admin",
        90_000,
        ("runc",),
        (CONTAINERD,),
        (
            Binary(
                "/usr/bin/containerd",
                "containerd github.com/containerd/containerd 1.6.20~ds1 1.6.20~ds1-1+b1",
            ),
        ),
    ),
    PackageSpec(
        "runc",
        "1.1.5+ds1-1+deb12u1",
        "Open Container Project - runtime",
        "admin",
        9_000,
        binaries=(Binary("/usr/sbin/runc", "runc version 1.1.5+ds1"),),
    ),
    PackageSpec(
        "openssh-server",
        "1:9.2p1-2+deb12u3",
        "secure shell (SSH) server, for secure access from remote machines",
        "net",
        1_900,
        ("openssh-client",),
        (SSH,),
        (
            Binary(
                "/usr/sbin/sshd", "OpenSSH_9.2p1 Debian-2+deb12u3, OpenSSL 3.0.14 4 Jun 2024", True
            ),
        ),
    ),
    PackageSpec(
        "openssh-client",
        "1:9.2p1-2+deb12u3",
        "secure shell (SSH) client, for secure access to remote machines",
        "net",
        4_800,
        binaries=(Binary("/usr/bin/scp", "usage: scp [-346ABCOpqRrsTv]", True),),
    ),
    PackageSpec(
        "cron",
        "3.0pl1-162",
        "process scheduling daemon",
        "admin",
        230,
        (),
        (CRON,),
        (Binary("/usr/sbin/cron", "cron (Debian) 3.0pl1"),),
    ),
    PackageSpec(
        "postfix",
        "3.7.11-0+deb12u1",
        "High-performance mail transport agent",
        "mail",
        4_300,
        (),
        (POSTFIX,),
    ),
    PackageSpec(
        "fail2ban",
        "1.0.2-2",
        "ban hosts that cause multiple authentication errors",
        "net",
        2_100,
        ("python3",),
        (FAIL2BAN,),
    ),
    PackageSpec(
        "prometheus-node-exporter",
        "1.5.0-1+b6",
        "Prometheus exporter for machine metrics",
        "net",
        18_000,
        (),
        (NODE_EXPORTER,),
    ),
    PackageSpec(
        "memcached",
        "1.6.18-1",
        "High-performance in-memory object caching system",
        "web",
        400,
        (),
        (MEMCACHED,),
    ),
    PackageSpec(
        "mosquitto",
        "2.0.11-1.2+deb12u1",
        "MQTT version 5.0/3.1.1/3.1 compatible message broker",
        "net",
        600,
        (),
        (MOSQUITTO,),
    ),
    PackageSpec(
        "rabbitmq-server",
        "3.10.8-1.1",
        "AMQP server written in Erlang",
        "net",
        15_000,
        (),
        (RABBITMQ,),
    ),
    PackageSpec(
        "haproxy",
        "2.6.12-1+deb12u1",
        "fast and reliable load balancing reverse proxy",
        "net",
        4_000,
        (),
        (HAPROXY,),
        (Binary("/usr/sbin/haproxy", "HAProxy version 2.6.12-1+deb12u1 2023/12/16"),),
    ),
    PackageSpec(
        "caddy",
        "2.6.2-5",
        "Fast, enterprise-ready web server with automatic HTTPS",
        "httpd",
        35_000,
        (),
        (CADDY,),
        (Binary("/usr/bin/caddy", "v2.6.2"),),
    ),
    PackageSpec(
        "nodejs",
        "18.19.0+dfsg-6~deb12u2",
        "evented I/O for V8 javascript - runtime executable",
        "javascript",
        1_000,
        binaries=(Binary("/usr/bin/node", "v18.19.0"), Binary("/usr/bin/nodejs", "v18.19.0")),
    ),
    PackageSpec(
        "npm",
        "9.2.0~ds1-1",
        "package manager for Node.js",
        "javascript",
        9_000,
        ("nodejs",),
        provides_commands=("npm",),
    ),
    PackageSpec(
        "python3",
        "3.11.2-1+b1",
        "interactive high-level object-oriented language (default python3 version)",
        "python",
        100,
        provides_commands=("python3",),
    ),
    PackageSpec(
        "python3-pip",
        "23.0.1+dfsg-1",
        "Python package installer",
        "python",
        7_000,
        ("python3",),
        provides_commands=("pip", "pip3"),
    ),
    PackageSpec(
        "python3-venv",
        "3.11.2-1+b1",
        "venv module for python3 (default python3 version)",
        "python",
        10,
        ("python3",),
    ),
    PackageSpec(
        "git",
        "1:2.39.5-0+deb12u1",
        "fast, scalable, distributed revision control system",
        "vcs",
        39_000,
        binaries=(Binary("/usr/bin/git", "git version 2.39.5"),),
    ),
    PackageSpec(
        "curl",
        "7.88.1-10+deb12u7",
        "command line tool for transferring data with URL syntax",
        "web",
        500,
        provides_commands=("curl",),
    ),
    PackageSpec(
        "wget",
        "1.21.3-1+b2",
        "retrieves files from the web",
        "web",
        3_600,
        provides_commands=("wget",),
    ),
    PackageSpec("ca-certificates", "20230311", "Common CA certificates", "misc", 400),
    PackageSpec(
        "gnupg",
        "2.2.40-1.1",
        "GNU privacy guard - a free PGP replacement",
        "utils",
        900,
        binaries=(Binary("/usr/bin/gpg", "gpg (GnuPG) 2.2.40"),),
    ),
    PackageSpec(
        "vim",
        "2:9.0.1378-2",
        "Vi IMproved - enhanced vi editor",
        "editors",
        3_800,
        binaries=(Binary("/usr/bin/vim", "VIM - Vi IMproved 9.0 (2022 Jun 28)"),),
    ),
    PackageSpec(
        "nano",
        "7.2-1+deb12u1",
        "small, friendly text editor inspired by Pico",
        "editors",
        2_800,
        binaries=(Binary("/usr/bin/nano", " GNU nano, version 7.2"),),
    ),
    PackageSpec(
        "htop",
        "3.2.2-2",
        "interactive processes viewer",
        "utils",
        400,
        binaries=(Binary("/usr/bin/htop", "htop 3.2.2"),),
    ),
    PackageSpec(
        "jq",
        "1.6-2.1",
        "lightweight and flexible command-line JSON processor",
        "utils",
        100,
        binaries=(Binary("/usr/bin/jq", "jq-1.6"),),
    ),
    PackageSpec(
        "unzip",
        "6.0-28",
        "De-archiver for .zip files",
        "utils",
        400,
        binaries=(Binary("/usr/bin/unzip", "UnZip 6.00 of 20 April 2009, by Debian."),),
    ),
    PackageSpec(
        "zip",
        "3.0-13",
        "Archiver for .zip files",
        "utils",
        600,
        binaries=(Binary("/usr/bin/zip", "Copyright (c) 1990-2008 Info-ZIP"),),
    ),
    PackageSpec(
        "rsync",
        "3.2.7-1+deb12u2",
        "fast, versatile, remote (and local) file-copying tool",
        "net",
        800,
        binaries=(Binary("/usr/bin/rsync", "rsync  version 3.2.7  protocol version 31"),),
    ),
    PackageSpec(
        "sudo",
        "1.9.13p3-1+deb12u1",
        "Provide limited super user privileges to specific users",
        "admin",
        6_000,
        provides_commands=("sudo",),
    ),
    PackageSpec(
        "tmux",
        "3.3a-3",
        "terminal multiplexer",
        "admin",
        1_100,
        binaries=(Binary("/usr/bin/tmux", "tmux 3.3a"),),
    ),
    PackageSpec(
        "make",
        "4.3-4.1",
        "utility for directing compilation",
        "devel",
        1_600,
        binaries=(Binary("/usr/bin/make", "GNU Make 4.3"),),
    ),
    PackageSpec(
        "build-essential",
        "12.9",
        "Informational list of build-essential packages",
        "devel",
        20,
        ("make",),
    ),
    PackageSpec("net-tools", "2.10-0.1", "NET-3 networking toolkit", "net", 1_000),
    PackageSpec(
        "dnsutils", "1:9.18.28-1~deb12u2", "Transitional package for bind9-dnsutils", "net", 50
    ),
    PackageSpec(
        "iputils-ping",
        "3:20221126-1+deb12u1",
        "Tools to test the reachability of network hosts",
        "net",
        120,
    ),
    PackageSpec(
        "lsb-release", "12.0-1", "Linux Standard Base version reporting utility", "misc", 50
    ),
    PackageSpec(
        "apt-transport-https", "2.6.1", "transitional package for https support", "admin", 40
    ),
    PackageSpec("ufw", "0.36.2-1", "program for managing a Netfilter firewall", "admin", 900),
    PackageSpec(
        "bash",
        "5.2.15-2+b7",
        "GNU Bourne Again SHell",
        "shells",
        7_100,
        provides_commands=("bash",),
    ),
)

# Packages that make up the freshly created container, per distribution family.
BASE_PACKAGES: dict[str, tuple[str, ...]] = {
    "debian": (
        "bash",
        "ca-certificates",
        "cron",
        "curl",
        "openssh-client",
        "openssh-server",
        "postfix",
        "wget",
        "sudo",
    ),
    "ubuntu": (
        "bash",
        "ca-certificates",
        "cron",
        "curl",
        "openssh-client",
        "openssh-server",
        "python3",
        "wget",
        "sudo",
    ),
    "alpine": (),
}
# Units every systemd container runs without a package of ours owning them.
SYSTEM_UNITS: dict[str, tuple[ServiceSpec, ...]] = {
    "debian": (JOURNALD, LOGIND, DBUS, NETWORKING),
    "ubuntu": (JOURNALD, LOGIND, DBUS, NETWORKD, RESOLVED),
    "alpine": (),
}
# Version differences of the other distributions (by package name).
VERSION_OVERRIDES: dict[str, dict[str, str]] = {
    "ubuntu": {
        "nginx": "1.24.0-2ubuntu7.1",
        "nginx-common": "1.24.0-2ubuntu7.1",
        "nodejs": "18.19.1+dfsg-6ubuntu5",
        "python3": "3.12.3-0ubuntu2",
        "redis-server": "5:7.0.15-1build2",
        "redis-tools": "5:7.0.15-1build2",
        "git": "1:2.43.0-1ubuntu7.1",
        "curl": "8.5.0-2ubuntu10.4",
        "openssh-server": "1:9.6p1-3ubuntu13.5",
        "bash": "5.2.21-2ubuntu4",
    },
}

# Alpine's package names for the same software (apk add NAME).
ALPINE_PACKAGES: dict[str, tuple[str, str]] = {
    # apk name: (catalog package whose contents it installs, alpine version)
    "nginx": ("nginx", "1.26.2-r0"),
    "redis": ("redis-server", "7.2.5-r0"),
    "postgresql16": ("postgresql-15", "16.4-r0"),
    "mariadb": ("mariadb-server", "10.11.8-r0"),
    "docker": ("docker.io", "26.1.5-r0"),
    "openssh": ("openssh-server", "9.7_p1-r4"),
    "bash": ("bash", "5.2.26-r0"),
    "curl": ("curl", "8.9.1-r1"),
    "git": ("git", "2.45.2-r0"),
    "nodejs": ("nodejs", "20.15.1-r0"),
    "npm": ("npm", "10.8.0-r0"),
    "python3": ("python3", "3.12.6-r0"),
    "py3-pip": ("python3-pip", "24.0-r2"),
    "ca-certificates": ("ca-certificates", "20240705-r0"),
    "jq": ("jq", "1.7.1-r0"),
    "vim": ("vim", "9.1.0414-r0"),
    "nano": ("nano", "8.0-r0"),
    "htop": ("htop", "3.3.0-r0"),
    "sudo": ("sudo", "1.9.15_p5-r0"),
    "wget": ("wget", "1.24.5-r0"),
}

# What an HTTP request to a local port answers while the service listening there runs.
HTTP_PAGES: dict[str, str] = {
    "nginx.service": "/var/www/html/index.nginx-debian.html",
    "apache2.service": "/var/www/html/index.html",
}


@dataclass
class NpmPackage:
    name: str
    version: str
    bins: tuple[str, ...] = ()


NPM_KNOWN: dict[str, NpmPackage] = {
    "pm2": NpmPackage("pm2", "5.4.2", ("pm2",)),
    "yarn": NpmPackage("yarn", "1.22.22", ("yarn",)),
    "pnpm": NpmPackage("pnpm", "9.12.1", ("pnpm",)),
    "typescript": NpmPackage("typescript", "5.6.3", ("tsc",)),
    "nodemon": NpmPackage("nodemon", "3.1.7", ("nodemon",)),
    "serve": NpmPackage("serve", "14.2.4", ("serve",)),
    "http-server": NpmPackage("http-server", "14.1.1", ("http-server",)),
}
PIP_KNOWN: dict[str, str] = {
    "requests": "2.32.3",
    "flask": "3.0.3",
    "django": "5.1.2",
    "fastapi": "0.115.2",
    "uvicorn": "0.32.0",
    "gunicorn": "23.0.0",
    "numpy": "2.1.2",
    "pandas": "2.2.3",
    "httpx": "0.27.2",
    "pyyaml": "6.0.2",
    "redis": "5.1.1",
    "psycopg": "3.2.3",
}


@dataclass
class InstalledPackage:
    name: str
    version: str
    summary: str
    section: str
    size_kb: int
    depends: tuple[str, ...] = ()
    auto: bool = False  # installed as a dependency
    extra: dict[str, str] = field(default_factory=dict)
