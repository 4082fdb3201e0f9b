"""The session: the runner, the pure stop path, the live loop, and the one builder of parts."""
