"""Pure torch networks: generators, critics, VGG features. No Lightning or Hydra here."""
