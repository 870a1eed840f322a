"""What every client script prints: one JSON list, per call whether it returned a result (and a
short summary of it) or the error the client raised (its HTTP status and the message it shows)."""
import json
import sys


class Report:
    def __init__(self, describe):
        """`describe(error)` gives (status, message) for the client's own API error, else None."""
        self.results = []
        self.describe = describe

    def run(self, name, call):
        try:
            self.results.append({"call": name, "ok": True, "detail": call()})
        except Exception as e:  # anything else the client raises is a failure of the call too
            status, message = self.describe(e) or (None, f"{type(e).__name__}: {e}")
            self.results.append({"call": name, "ok": False, "status": status, "error": str(message)[:400]})

    def print(self):
        json.dump(self.results, sys.stdout)
