"""agenticos: agent registry with Redis heartbeats, and tasks assigned to the least-loaded online agent."""
