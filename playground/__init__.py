"""The playground: carecircle against a simulated Telegram, for trying it without a token.
sim/ is the simulated Bot API, used by the playground, the end-to-end tests and the benchmarks.
"""
