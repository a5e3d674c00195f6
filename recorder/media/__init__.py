"""Recordings: the recorder (a frame tap), WebM segments, their index, replay time
and the MP4 export."""
