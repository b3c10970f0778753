"""The shipped evaluation suites (YAML), their datasets, wrapper graphs and custom scorers."""
