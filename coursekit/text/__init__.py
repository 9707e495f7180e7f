"""Text: tokenizing, vocabularies, language-model and classifier loaders, AWD-LSTM and ULMFiT transfer.

Import the modules by name: ``from coursekit.text import tokenize, vocab, loaders, models``.
"""
