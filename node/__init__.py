"""The Allmende node service: configuration, stores, event log, HTTP app and CLI."""
