"""The scaling study: layer outputs at initialization, input scaling and standardization."""
