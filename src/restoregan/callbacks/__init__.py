"""Lightning callbacks: everything that is not the optimisation step."""
