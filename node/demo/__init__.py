"""`allmende demo`: three sample villages federating on loopback, with simulated sensors."""

from allmende.node.demo.command import demo

__all__ = ["demo"]
