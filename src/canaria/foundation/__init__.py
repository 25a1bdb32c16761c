"""Layer 0: the small shared values every layer uses — durations, sizes, listen addresses, latency histograms.

Imports nothing of canaria's but `canaria.errors`.
"""
