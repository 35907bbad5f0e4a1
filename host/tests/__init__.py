"""Host unit tests of the parser, the exporters and tools/racebed-report on the committed sample logs (host/samples/)."""
