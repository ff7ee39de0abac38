"""Sources: YAML nodes with positions, the spec language, the stage model, deal files and git history."""
