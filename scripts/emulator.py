"""moto's server (the local AWS emulator), with DynamoDB requests run one at a time.

Usage: emulator.py HOST PORT

Why not plain `moto_server`: it serves requests on threads, and moto's TransactWriteItems
is not isolated from other requests. A transaction snapshots the whole table when it starts
and, when one of its conditions fails, restores that snapshot, which silently undoes every
write that other requests committed in the meantime. Real DynamoDB never does that, and our
concurrency tests (fifty simultaneous starts on one pay order) caught it: a lost claim let a
second start through. Serializing DynamoDB requests gives each one the isolation DynamoDB
gives. SQS and everything else stay concurrent, so SQS long polls do not hold the lock.
"""

import signal
import sys
import threading

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import run_simple

_DYNAMODB = threading.Lock()


class DynamoDbOneAtATime:
    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        if not environ.get("HTTP_X_AMZ_TARGET", "").startswith("DynamoDB_"):
            return self.app(environ, start_response)
        with _DYNAMODB:
            # the whole answer is produced inside the lock
            return list(self.app(environ, start_response))


def main():
    host, port = sys.argv[1], int(sys.argv[2])
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    app = DomainDispatcherApplication(create_backend_app)
    run_simple(
        host,
        port,
        DynamoDbOneAtATime(app),
        threaded=True,
        request_handler=MotoRequestHandler,
    )


if __name__ == "__main__":
    main()
