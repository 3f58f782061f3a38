"""shardbeat: Packetbeat's transactions and flows, decoded by one process per core."""

__version__ = "0.1.0"
ECS_VERSION = "8.0.0"
