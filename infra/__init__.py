"""The bottom layer every app may import: rate limits, the client's address, the domain error base."""
