"""The grid study: every activation x initializer x width of the running example."""
