"""The bottom layer every app may import: rate limits, the client's address, the domain error base,
the roles, phone masking and the read-only admin mixin. It imports no app."""
