"""The Ocean Explorer app: template, routes, serving and the command line."""
