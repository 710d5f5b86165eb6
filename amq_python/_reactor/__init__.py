"""The selector driver: the Container, its connectors, channels, poller, timers and selectables."""
