"""The center's rooms (Annex 2 출입관리): who may enter, the entry and exit log from the console and from
door readers (``room_access`` device messages), visitors with their escort, and the 출입관리대장."""
