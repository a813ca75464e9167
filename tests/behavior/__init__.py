"""The behaviour suite: every rule of the track-sale contract, over HTTP and in process."""
