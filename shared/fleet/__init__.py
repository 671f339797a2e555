"""The fleet: render supervisord's configuration, start/stop/status it, and show what runs."""
