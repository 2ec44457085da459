start-no-event =
    Hi! I find your photos from events.
    Open the event link (or scan the QR code) your photographer or organizer shared, then send me a selfie.
event-unavailable = This event link is unknown or the event is closed. Ask the organizer for a current link.
greeting = Welcome to “{ $name }”!
event-details-date = Date: { $date }
event-details-place = Place: { $place }
consent-request =
    Before I look for you, I need your consent to process your face (biometric data):
    • I compute a face description (an embedding) from your selfie and compare it with this event's photos. The selfie itself is not kept.
    • If you ask for new photos later, that face description is stored for this event until you send /stop or /forget.
    • /forget deletes everything about you at any time.
consent-agree = ✅ I agree
consent-decline = Decline
consent-given = Thank you! Now send me a selfie: just you, face clearly visible.
consent-declined = Without consent I cannot look for you. You can agree any time: open the event link again.
send-selfie = Send me a selfie to find your photos of “{ $name }”.
no-event = Open the event link first (or choose one with /events).
searching = Looking for you in “{ $name }”…
selfie-not-image = That file is not an image. Send a selfie as a photo, or as a JPEG/PNG/WebP/HEIC file.
selfie-too-large = That file is too large (20 MB at most). Send the selfie as a photo instead.
unreadable-image = I could not read that file as an image; it may be damaged. Send the selfie as a photo, or as a JPEG/PNG/WebP/HEIC file.
no-face = I could not find a face. Send a well-lit photo where your face is clearly visible, looking at the camera.
multiple-faces = I see { $count ->
        [one] { $count } face
       *[other] { $count } faces
    }. Send a selfie with just you in it.
rate-limited = Too many searches. Please try again in { $seconds ->
        [one] { $seconds } second
       *[other] { $seconds } seconds
    }.
search-timeout = The search took too long. Please try again in a moment.
nothing-found = No photos of you in “{ $name }” yet. Photos may still be uploaded — I can send new ones as they appear.
results-page = { $count ->
        [one] Photo { $from } of { $total }.
       *[other] Photos { $from }–{ $to } of { $total }.
    } Tap 📄 and a number to get that original file.
results-more = Show more
results-done = That's all the photos found.
live-offer = 🔔 Send me new photos of me
live-on = Done: I will send you new photos of you from “{ $name }” as they are uploaded. /stop ends this.
live-expired = Please send your selfie again, then tap the button.
live-new-photo =
    { $count ->
        [1] New photo of you from “{ $name }”
       *[other] New photos of you from “{ $name }”
    }
live-originals = Tap 📄 and a number to get that original file.
live-stopped = Done: no more new photos will be sent, and your stored face description was deleted.
original-button = 📄 Original
original-unavailable = This photo is no longer available.
events-none = You have not joined any event yet. Open an event link first.
events-list = Your events — tap one to search in it:
event-switched = Now searching in “{ $name }”. Send a selfie.
forget-ask = Delete all your data: face descriptions, events you joined, subscriptions and delivery history? This cannot be undone.
forget-confirm = Yes, delete
forget-confirm-hide = Delete, and hide me from other people's searches here
forget-cancel = Cancel
forget-done-hidden = { $events ->
    [0] All your data was deleted. I could not find you in this event's photos to hide you: ask the organizer. Goodbye!
    [one] All your data was deleted, and other people's searches will not find you in this event. Goodbye!
   *[other] All your data was deleted, and other people's searches will not find you in { $events } events. Goodbye!
}
forget-done = All your data was deleted. Goodbye!
forget-nothing = I have no data about you.
forget-cancelled = Nothing was deleted.
language-choose = Choose your language:
language-set = Language: English.
help =
    How it works:
    1. Open the event link (or QR code) from the organizer.
    2. Agree to face processing and send a selfie.
    3. Get the photos you are in; tap 📄 for the original file.
    /events — your events, switch the active one
    /stop — stop sending new photos
    /forget — delete all your data
    /language — change the language
unhandled = Send me a selfie to find your photos, or /help.
error-generic = Something went wrong. Please try again.
command-start = Start
command-events = Your events
command-stop = Stop new photos
command-forget = Delete my data
command-language = Language
command-help = Help

selfie-one-more = To be sure these are all your photos, send one more selfie — another angle or light. I'll combine them.
selfie-one-more-weak = Your face is small or turned in this selfie. Send one more, closer and facing the camera — I'll combine them for better results.
