"""The floor: a bare ASGI app that reads the body and answers a constant (no model, no framework).

Run with ``uvicorn floor_app:app --loop uvloop --http httptools --workers N``.
"""

BODY = b'{"outputs":[{"name":"predict_proba","datatype":"FP32","shape":[1,2],"data":[0.9,0.1]}]}'
HEADERS = [(b"content-type", b"application/json"), (b"content-length", str(len(BODY)).encode())]


async def app(scope, receive, send):  # type: ignore[no-untyped-def]
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    more = True
    while more:  # drain the request body, as a real server must
        message = await receive()
        more = message.get("more_body", False)
    await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
    await send({"type": "http.response.body", "body": BODY})
