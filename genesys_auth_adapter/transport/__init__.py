"""The requests glue: token request, URL scope, auth object, adapter and the shared 401 re-send."""
