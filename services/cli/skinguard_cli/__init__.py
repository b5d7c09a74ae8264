"""The ``skinguard`` command line: talks to the services over HTTP only."""
