"""Reusable widgets of the shell: portal header, sidebar, dialogs."""
