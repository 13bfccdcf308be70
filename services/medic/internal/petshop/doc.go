// Package petshop turns the public PetShop root-cause dataset (Hardt et
// al., 2023; amazon-science/petshop-root-cause-analysis) into what Medic
// takes in: its metrics.csv files into OTLP gauges for the ingest service's
// receiver, its graph.csv into the rca service's static call graph. The
// dataset is read where it lies (see Find); nothing of it is copied into
// the repository.
package petshop
