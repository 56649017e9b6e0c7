"""edgedock: container applications from private registries on fleets of edge devices."""
