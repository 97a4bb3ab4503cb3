# Starts moto's server (same arguments as moto_server) with one fix: atomic SQS receives.
#
# moto 5.2.1's SQSBackend.receive_message checks `message.visible` and then marks the message received
# without a lock, and its server is threaded: two overlapping ReceiveMessage calls can both take the
# same message (getmoto/moto#519), which SQS's visibility timeout exists to prevent. Measured here:
# 2 of 40 runs of two boto3 consumers got 41 deliveries of 40 messages, with no retries involved.
# This serializes the scan-and-mark per queue and releases the lock while a long poll waits, so a
# waiting receiver never blocks the others.
import sys
import threading
import weakref

from moto.sqs import models
from moto.server import main

if not hasattr(models.SQSBackend, "receive_message") or not hasattr(models.Queue, "wait_for_messages"):
    sys.exit("moto_server.py: this moto has no SQSBackend.receive_message / Queue.wait_for_messages; update the patch")

_guard = threading.Lock()
_locks: "weakref.WeakKeyDictionary[models.Queue, threading.Lock]" = weakref.WeakKeyDictionary()
_receive = models.SQSBackend.receive_message
_wait = models.Queue.wait_for_messages


def _lock(queue):
    with _guard:
        return _locks.setdefault(queue, threading.Lock())


def receive_message(self, queue_name, *args, **kwargs):
    with _lock(self.get_queue(queue_name)):
        return _receive(self, queue_name, *args, **kwargs)


def wait_for_messages(self, timeout):
    # Only receive_message calls this, holding the queue's lock.
    lock = _lock(self)
    lock.release()
    try:
        _wait(self, timeout)
    finally:
        lock.acquire()


models.SQSBackend.receive_message = receive_message
models.Queue.wait_for_messages = wait_for_messages

if __name__ == "__main__":
    main(sys.argv[1:])
