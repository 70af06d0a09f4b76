"""The person's computer: hash files here, send only the hashes, keep the receipt, check or withdraw.

`takeitdown submit`, `takeitdown case status|withdraw` and `takeitdown hash --wire`. The same
limits and words as the submission page (registry/web); it imports `protocol` and `hashing`
only, and talks to the registry over HTTP like the page does.
"""
