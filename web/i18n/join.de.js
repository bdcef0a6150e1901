// The join catalog (de).
export default {
};
