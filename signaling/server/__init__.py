"""The server: the aiohttp app, socket.io namespace, REST handlers, tokens and signed
links, configuration and the command line."""
