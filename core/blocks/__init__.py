"""Building blocks of the course (seed 001, 002, 004): residual blocks, self-attention, normalization.

resnet.py       the seed's BasicBlock and ResNet-18 (forward completed), stage table, seed 004's sizes
attention.py    the seed's SingleHeadSelfAttention (forward completed), multi-head, softmax scaling
norm.py         which elements share statistics (BN/LN/IN/GN), running stats, padding, dropout
experiments.py  live experiments: plain vs residual deep net, BN/LN/none small CNN on MNIST
"""
