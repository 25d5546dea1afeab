"""What the host integration listens to (connected from IntegrationConfig.ready())."""
