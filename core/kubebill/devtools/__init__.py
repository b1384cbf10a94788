"""Developer tools kept out of the function artifacts: the simulator, the accuracy scoring, the packager."""
