// The private catalog (en): what "only me" means now that private items are encrypted on the
// device, and what is lost with the link or the device.
export default {
  "private.write_member": "Only-me items are encrypted on this device before they are sent: nobody else can read them, not even the server. They open only where your personal link is used. If you lose your link, they are lost.",
  "private.write_device": "Only-me items are encrypted on this device before they are sent: nobody else can read them, not even the server. They open only in this browser on this device. If you clear it or change device, they are lost.",
  "private.join_note": "Whatever you mark \"only me\" is encrypted on this device and can be read only here: a lost device or a cleared browser means lost private items.",
  "private.unreadable": "Can't be read on this device (it was written with another device or link).",
  "private.seal_failed": "This browser could not encrypt your private item, so it was not sent. Choose who may see it otherwise, or try another browser.",
  "private.link_title": "Save your complete personal link",
  "private.link_text": "Your link had no key for private items, so this device made one. Save this complete link and use it from now on: private items you write with it can be read only where this link is used. The old link will not open them.",
  "private.link_copy": "Copy the complete link",
  "private.link_saved": "I saved it",
};
