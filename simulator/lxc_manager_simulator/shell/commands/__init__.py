"""The programs of the simulated machines, grouped by the package that would ship them."""
