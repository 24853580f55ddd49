"""The five frontends.  They read events and answer requests; they never call the engine."""
