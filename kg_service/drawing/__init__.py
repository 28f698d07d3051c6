"""The pathway as a picture (rank 5): its steps and links read from the graph, laid out by Graphviz `dot`,
coloured by one patient's answer. May import core, store and graph; takes the answer as a value (it does
not import the reasoner)."""
