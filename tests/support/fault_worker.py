"""``python -m tests.support.fault_worker ARGS…``: ``celery -A worker ARGS…`` with a timing knob.

Work lost with a killed worker or a restarted Redis comes back through the sweep: a row left
``sending`` once its lease (``[delivery] lease``, which the tests set in the config) runs out,
and a row whose broker message was lost once it has waited ``worker.sweep.REQUEUE_AFTER``
seconds (120; there is no setting for it). This sets that constant from
``$HERALD_FAULTS_REQUEUE_AFTER`` before Celery loads the app (prefork children inherit it) and
refuses to start if the constant is gone, so the tests fail loudly instead of waiting minutes.
Test-only: it must never be used to run herald for real.
"""

from __future__ import annotations

import os
import sys


def main() -> None:
    value = os.environ.get("HERALD_FAULTS_REQUEUE_AFTER")
    if value:
        from worker import sweep

        if not hasattr(sweep, "REQUEUE_AFTER"):
            raise SystemExit(
                "fault_worker: worker.sweep.REQUEUE_AFTER is gone; give the fault tests its "
                "new setting instead of $HERALD_FAULTS_REQUEUE_AFTER"
            )
        sweep.REQUEUE_AFTER = float(value)
        print(f"fault_worker: worker.sweep.REQUEUE_AFTER = {value}", file=sys.stderr, flush=True)
    from celery.__main__ import main as celery_main

    sys.argv = ["celery", "-A", "worker", *sys.argv[1:]]
    celery_main()


if __name__ == "__main__":
    main()
