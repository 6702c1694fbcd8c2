"""Replies: logging, matching, inbound email, the position register and the reply tracker."""
