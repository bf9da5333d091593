"""Reference implementations the product's results are checked against (test code only)."""
