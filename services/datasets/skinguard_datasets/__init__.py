"""Datasets: ``layouts`` reads labelled collections on disk (the importer and the local training
CLI use the same reader); ``splitting`` makes leakage-free grouped, stratified splits (the
annotation service's dataset versions and the local CLI use the same splitter)."""
