"""The contacts directory: organisations, people, positions, contact points, segments."""
