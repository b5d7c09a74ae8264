"""On-device models: the served version for apps that classify offline, and its files."""
